// Reading the margin-softmax options ({ m, s, easyMargin, subCenters, smoothingEpsilon,
// smoothingSpread, label2category, reduction }) for the modules and the functional form alike.
#pragma once
#include "../ops/margin_softmax.h"
#include "options.h"

namespace tl::binding {

// kind: 'arcface' | 'cosface' | 'normsoftmax' (s = 1 / temperature). RangeErrors name the option.
ops::MarginSoftmaxOptions readMarginSoftmaxOptions(const OptionReader& options, const std::string& kind,
                                                   int64_t numClasses, const c10::Device& device);

// 'all' | 'others' (see ops::SmoothingSpread).
ops::SmoothingSpread readSmoothingSpread(const OptionReader& options);

// A category per class (int64 [numClasses]) from option `key`, or undefined when absent.
at::Tensor readCategories(const OptionReader& options, const char* key, int64_t numClasses);

}  // namespace tl::binding
