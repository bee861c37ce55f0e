// Exports the dist* functions of the binding (lib/dist.ts is their facade).
#pragma once
#include <napi.h>

namespace tl::binding {

void exportDist(Napi::Env env, Napi::Object exports);

}  // namespace tl::binding
