#pragma once
#include <napi.h>

namespace tl::binding {
void exportLosses(Napi::Env env, Napi::Object exports);
}
