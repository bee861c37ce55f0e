#pragma once
#include <napi.h>

namespace tl::binding {
// info, threads, seeding, CUDA queries, device checks, label marshaling probe.
void exportRuntime(Napi::Env env, Napi::Object exports);
}
