// metrics.* of the package (retrieval_metrics.cpp): Recall@K / CMC / mAP.
#pragma once
#include <napi.h>

namespace tl::binding {

void exportRetrievalMetrics(Napi::Env env, Napi::Object exports);

}  // namespace tl::binding
