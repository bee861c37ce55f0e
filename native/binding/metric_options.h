// Option readers shared by the metric-loss and miner bindings (metric_losses.cpp, miners.cpp).
#pragma once
#include <napi.h>

#include "../ops/metric_losses.h"
#include "../ops/miners.h"
#include "options.h"

namespace tl::binding {

ops::DistanceOptions distanceOptions(const OptionReader& options);
// The miner options of `options` (flat: posStrategy, margin, maxTriplets...), kind from `type`.
ops::MinerOptions minerOptions(const OptionReader& options, const std::string& type);
// A labels-valued option (refLabels, triplets.anchors...) as an int64 tensor on `device`; undefined when absent.
at::Tensor labelsOption(const OptionReader& options, const char* key, const char* name, const c10::Device& device);
// A margin option: a number >= 0, or null for the soft margin.
std::optional<double> marginOption(const OptionReader& options, double fallback);
Napi::Object statsObject(Napi::Env env, const ops::BatchHardStats& stats);

}  // namespace tl::binding
