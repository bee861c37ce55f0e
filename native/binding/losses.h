// Loss bindings, one exporter per family (the ops/ file of the same name holds the math).
#pragma once
#include <napi.h>

namespace tl::binding {

void exportEmbeddingLosses(Napi::Env env, Napi::Object exports);       // embedding_losses.cpp
void exportRegressionLosses(Napi::Env env, Napi::Object exports);      // regression_losses.cpp
void exportClassificationLosses(Napi::Env env, Napi::Object exports);  // classification_losses.cpp
void exportMetricLosses(Napi::Env env, Napi::Object exports);          // metric_losses.cpp
void exportPairLosses(Napi::Env env, Napi::Object exports);            // pair_losses.cpp
void exportMiners(Napi::Env env, Napi::Object exports);                // miners.cpp
void exportMarginLosses(Napi::Env env, Napi::Object exports);          // margin_losses.cpp

inline void exportLosses(Napi::Env env, Napi::Object exports) {
  exportEmbeddingLosses(env, exports);
  exportRegressionLosses(env, exports);
  exportClassificationLosses(env, exports);
  exportMetricLosses(env, exports);  // after exportEmbeddingLosses: adds to its `reference` object
  exportPairLosses(env, exports);
  exportMiners(env, exports);
  exportMarginLosses(env, exports);  // adds to `reference` too
}

}  // namespace tl::binding
