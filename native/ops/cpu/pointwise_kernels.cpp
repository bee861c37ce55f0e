#include "pointwise_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "../kernel_choice.h"

namespace tl::ops::cpu {
namespace {

// One element's loss and its derivatives (unscaled) with respect to input and target.
template <typename T>
struct Terms {
  T loss, dInput, dTarget;
};

// One chunk of elements; the flags are template parameters so that each variant's loop has no
// per-element branches on them (the arithmetic is in T, like PyTorch's; the sum is in double).
template <typename T, bool kPerElement, bool kGrad, bool kTargetGrad, typename Formula>
double chunk(int64_t begin, int64_t end, const T* x, const T* y, T scale, T* loss, T* gx, T* gy,
             const Formula& formula) {
  double partial = 0;
#pragma omp simd reduction(+ : partial)
  for (int64_t i = begin; i < end; ++i) {
    const Terms<T> t = formula(x[i], y[i]);
    partial += t.loss;
    if constexpr (kPerElement) loss[i] = t.loss;
    if constexpr (kGrad) {
      gx[i] = t.dInput * scale;
      if constexpr (kTargetGrad) gy[i] = t.dTarget * scale;
    }
  }
  return partial;
}

// Runs `formula(x, y) -> Terms<T>` over every element of input and target (same shape, checked
// by the caller). kTargetGrad: whether the target's gradient is part of the output.
template <typename T, bool kTargetGrad, typename Formula>
LossOutput run(const at::Tensor& input, const at::Tensor& target, PointwiseReduction r, bool needGrad,
               const Formula& formula) {
  countFusedKernelCall();
  const int64_t count = input.numel();
  const T* x = input.data_ptr<T>();
  const T* y = target.data_ptr<T>();
  const bool perElement = r.reduction == Reduction::None;
  at::Tensor losses = perElement ? outputLike(input) : at::Tensor();
  T* loss = perElement ? losses.data_ptr<T>() : nullptr;
  at::Tensor gradInput, gradTarget;
  T *gx = nullptr, *gy = nullptr;
  if (needGrad) {
    gradInput = outputLike(input);
    gx = gradInput.data_ptr<T>();
    if constexpr (kTargetGrad) {
      gradTarget = outputLike(target);
      gy = gradTarget.data_ptr<T>();
    }
  }
  const T scale = static_cast<T>(r.reduction == Reduction::Mean ? 1.0 / r.meanDivisor : 1.0);
  const auto body = [&](int64_t begin, int64_t end, double partial) {
    if (perElement && needGrad) return partial + chunk<T, true, true, kTargetGrad>(begin, end, x, y, scale, loss, gx, gy, formula);
    if (perElement) return partial + chunk<T, true, false, kTargetGrad>(begin, end, x, y, scale, loss, gx, gy, formula);
    if (needGrad) return partial + chunk<T, false, true, kTargetGrad>(begin, end, x, y, scale, loss, gx, gy, formula);
    return partial + chunk<T, false, false, kTargetGrad>(begin, end, x, y, scale, loss, gx, gy, formula);
  };
  const double total = at::parallel_reduce(0, count, 32768, 0.0, body, std::plus<double>());
  LossOutput out;
  setKernelLoss(out, losses, r.reduction == Reduction::Mean ? total / r.meanDivisor : total, input.scalar_type());
  if (needGrad) {
    out.grads.push_back(gradInput);
    if constexpr (kTargetGrad) out.grads.push_back(gradTarget);
  }
  return out;
}

// Calls makeRun(T{}) with T = float or double, the input's dtype.
template <typename MakeRun>
LossOutput byDtype(const at::Tensor& input, const MakeRun& makeRun) {
  if (input.scalar_type() == at::kDouble) return makeRun(double{});
  return makeRun(float{});
}

PointwiseReduction overElements(Reduction reduction, const at::Tensor& input) {
  return {reduction, static_cast<double>(input.numel())};
}

template <typename T>
T signOf(T d) {  // torch.sign, except that NaN gives 0 as l1_loss's backward does; branch-free,
  return static_cast<T>(d > T(0)) - static_cast<T>(d < T(0));  // as random signs mispredict
}

}  // namespace

LossOutput l1Kernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    return run<T, true>(input, target, overElements(reduction, input), needGrad, [](T x, T y) {
      const T d = x - y, s = signOf(d);
      return Terms<T>{std::abs(d), s, -s};
    });
  });
}

LossOutput mseKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    return run<T, true>(input, target, overElements(reduction, input), needGrad, [](T x, T y) {
      const T d = x - y;
      return Terms<T>{d * d, T(2) * d, T(-2) * d};
    });
  });
}

// Smooth L1 and Huber are written without branches (min / clamp instead of `z < beta ? ...`):
// on inputs where |x - y| falls on both sides of beta at random, mispredicted branches made them
// several times slower than PyTorch. std::min / std::max keep NaN when it is their first argument.
template <typename T>
T clampTo(T value, T low, T high) {
  return std::max(std::min(value, high), low);
}

LossOutput smoothL1Kernel(const at::Tensor& input, const at::Tensor& target, double betaValue,
                          Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    const PointwiseReduction r = overElements(reduction, input);
    if (betaValue == 0) {
      // The L1 loss, with PyTorch's smooth-L1 derivative: -1 at x = y, for the input and target.
      return run<T, true>(input, target, r, needGrad, [](T x, T y) {
        const auto slope = [](T u) { return u <= T(0) ? T(-1) : (u > T(0) ? T(1) : u); };
        return Terms<T>{std::abs(x - y), slope(x - y), slope(y - x)};
      });
    }
    const T beta = static_cast<T>(betaValue);
    // One division per call instead of per element (a 1-ulp difference from PyTorch's x / beta).
    const T inverseBeta = T(1) / beta;
    return run<T, true>(input, target, r, needGrad, [beta, inverseBeta](T x, T y) {
      // 0.5 z^2 / beta below beta, z - 0.5 beta above: q (z - q / 2) / beta with q = min(z, beta).
      const T d = x - y, z = std::abs(d), q = std::min(z, beta);
      const T loss = q * (z - T(0.5) * q) * inverseBeta;
      // PyTorch's derivative: d / beta inside [-beta, beta], the sign of d outside.
      const T g = clampTo(d, -beta, beta) * inverseBeta;
      return Terms<T>{loss, g, -g};
    });
  });
}

LossOutput huberKernel(const at::Tensor& input, const at::Tensor& target, double deltaValue,
                       Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    const T delta = static_cast<T>(deltaValue);
    return run<T, true>(input, target, overElements(reduction, input), needGrad, [delta](T x, T y) {
      // 0.5 z^2 below delta, delta (z - delta / 2) above: q (z - q / 2) with q = min(z, delta).
      const T d = x - y, z = std::abs(d), q = std::min(z, delta);
      const T g = clampTo(d, -delta, delta);
      return Terms<T>{q * (z - T(0.5) * q), g, -g};
    });
  });
}

LossOutput poissonNllKernel(const at::Tensor& input, const at::Tensor& target, bool logInput,
                            double epsValue, Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    const PointwiseReduction r = overElements(reduction, input);
    if (logInput) {
      return run<T, true>(input, target, r, needGrad, [](T x, T y) {
        const T e = std::exp(x);
        return Terms<T>{e - y * x, e - y, -x};
      });
    }
    const T eps = static_cast<T>(epsValue);
    return run<T, true>(input, target, r, needGrad, [eps](T x, T y) {
      const T shifted = x + eps, log = std::log(shifted);
      return Terms<T>{x - y * log, T(1) - y / shifted, -log};
    });
  });
}

LossOutput klDivKernel(const at::Tensor& input, const at::Tensor& target, bool logTarget,
                       PointwiseReduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    if (logTarget) {
      return run<T, true>(input, target, reduction, needGrad, [](T x, T y) {
        const T p = std::exp(y);
        return Terms<T>{p * (y - x), -p, p * (y - x) + p};
      });
    }
    return run<T, true>(input, target, reduction, needGrad, [](T x, T y) {
      // xlogy(y, y) - y * x. PyTorch's derivative of xlogy(y, y) at y = 0 is 0/0 = NaN.
      const T logY = std::log(y);
      const T entropyTerm = std::isnan(y) ? y : (y == T(0) ? T(0) : y * logY);
      const T dTarget = y == T(0) ? std::numeric_limits<T>::quiet_NaN() : logY + T(1) - x;
      return Terms<T>{entropyTerm - y * x, -y, dTarget};
    });
  });
}

LossOutput bceKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    return run<T, true>(input, target, overElements(reduction, input), needGrad, [](T x, T y) {
      // PyTorch clamps each log at -100 in the loss, and the input derivative's denominator at
      // 1e-12 — a float constant, also for double inputs.
      const T logX = std::log(x), log1mX = std::log1p(-x);
      const T loss = (y - T(1)) * std::max(log1mX, T(-100)) - y * std::max(logX, T(-100));
      const T dInput = (x - y) / std::max((T(1) - x) * x, static_cast<T>(1e-12f));
      return Terms<T>{loss, dInput, log1mX - logX};
    });
  });
}

LossOutput bceWithLogitsKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction,
                               bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    return run<T, true>(input, target, overElements(reduction, input), needGrad, [](T x, T y) {
      // (1 - y) x + log(1 + exp(-x)), with the log-sum-exp shift that keeps exp from overflowing.
      const T shift = std::max(-x, T(0));
      const T loss = (T(1) - y) * x + shift + std::log(std::exp(-shift) + std::exp(-x - shift));
      const T sigmoid = T(1) / (T(1) + std::exp(-x));
      return Terms<T>{loss, sigmoid - y, -x};
    });
  });
}

LossOutput softMarginKernel(const at::Tensor& input, const at::Tensor& target, Reduction reduction,
                            bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    return run<T, false>(input, target, overElements(reduction, input), needGrad, [](T x, T y) {
      const T z = std::exp(-y * x);
      return Terms<T>{std::log1p(z), -y * z / (T(1) + z), T(0)};
    });
  });
}

LossOutput hingeEmbeddingKernel(const at::Tensor& input, const at::Tensor& target, double marginValue,
                                Reduction reduction, bool needGrad) {
  return byDtype(input, [&](auto zero) {
    using T = decltype(zero);
    const T margin = static_cast<T>(marginValue);
    return run<T, false>(input, target, overElements(reduction, input), needGrad, [margin](T x, T y) {
      // PyTorch: where(y != 1, clamp_min(margin - x, 0), 0) + where(y != -1, x, 0); clamp_min
      // passes the gradient where margin - x >= 0.
      const T gap = margin - x;
      const bool marginTerm = y != T(1), selfTerm = y != T(-1);
      const T loss = (marginTerm ? (gap < T(0) ? T(0) : gap) : T(0)) + (selfTerm ? x : T(0));
      const T dInput = (selfTerm ? T(1) : T(0)) - (marginTerm && gap >= T(0) ? T(1) : T(0));
      return Terms<T>{loss, dInput, T(0)};
    });
  });
}

}  // namespace tl::ops::cpu
