#include "metric_kernels.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <vector>

namespace tl::ops::cpu {
namespace {

template <typename scalar_t>
HardestPerRow mine(const at::Tensor& distances, const at::Tensor& labels, NoPositive noPositive, bool splitTies) {
  const int64_t n = distances.size(0);
  const scalar_t* d = distances.data_ptr<scalar_t>();
  const int64_t* label = labels.data_ptr<int64_t>();
  // per row: the hardest indices (-1: none) and how many entries tie with them
  std::vector<int64_t> positive(n, -1), negative(n, -1), positiveTies(n, 0), negativeTies(n, 0);
  HardestPerRow h;
  h.hasPositive = at::empty({n}, at::kBool);
  h.hasNegative = at::empty({n}, at::kBool);
  h.positiveDistance = at::zeros({n}, distances.options());
  h.negativeDistance = at::zeros({n}, distances.options());
  bool* hasPositive = h.hasPositive.data_ptr<bool>();
  bool* hasNegative = h.hasNegative.data_ptr<bool>();
  scalar_t* dap = h.positiveDistance.data_ptr<scalar_t>();
  scalar_t* dan = h.negativeDistance.data_ptr<scalar_t>();
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const scalar_t* row = d + i * n;
      const int64_t own = label[i];
      int64_t p = -1, q = -1, pt = 0, qt = 0;
      scalar_t far = 0, near = 0;
      for (int64_t j = 0; j < n; ++j) {
        const scalar_t v = row[j];
        if (label[j] == own) {
          if (j == i) continue;
          if (p < 0 || v > far) { p = j; far = v; pt = 1; } else if (v == far) { ++pt; }
        } else {
          if (q < 0 || v < near) { q = j; near = v; qt = 1; } else if (v == near) { ++qt; }
        }
      }
      hasPositive[i] = p >= 0;
      hasNegative[i] = q >= 0;
      if (p < 0 && noPositive == NoPositive::Self) { p = i; far = row[i]; pt = 1; }
      if (p >= 0 && q >= 0) {
        positive[i] = p; negative[i] = q; positiveTies[i] = pt; negativeTies[i] = qt;
        dap[i] = far;
        dan[i] = near;
      }
    }
  });
  h.valid = at::empty({n}, at::kBool);
  bool* valid = h.valid.data_ptr<bool>();
  for (int64_t i = 0; i < n; ++i) valid[i] = positive[i] >= 0;
  // The mined entries as (row, col, share), every tied one with splitTies (rows with ties are
  // rescanned: they are rare outside duplicate embeddings).
  auto entries = [&](const std::vector<int64_t>& index, const std::vector<int64_t>& ties, const scalar_t* value,
                     bool positiveSide, at::Tensor& rows, at::Tensor& cols, at::Tensor& share) {
    std::vector<int64_t> r, c;
    std::vector<double> s;
    for (int64_t i = 0; i < n; ++i) {
      if (index[i] < 0) continue;
      if (!splitTies || ties[i] == 1) {
        r.push_back(i); c.push_back(index[i]); s.push_back(1.0);
        continue;
      }
      const scalar_t* row = d + i * n;
      for (int64_t j = 0; j < n; ++j) {
        const bool candidate = positiveSide ? label[j] == label[i] && j != i : label[j] != label[i];
        if (candidate && row[j] == value[i]) {
          r.push_back(i); c.push_back(j); s.push_back(1.0 / static_cast<double>(ties[i]));
        }
      }
    }
    rows = at::tensor(r, at::kLong);
    cols = at::tensor(c, at::kLong);
    share = at::tensor(s, at::kDouble).to(distances.scalar_type());
  };
  entries(positive, positiveTies, dap, true, h.positiveRows, h.positiveCols, h.positiveShare);
  entries(negative, negativeTies, dan, false, h.negativeRows, h.negativeCols, h.negativeShare);
  return h;
}

}  // namespace

HardestPerRow hardestPerRow(const at::Tensor& distances, const at::Tensor& labels, NoPositive noPositive,
                            bool splitTies) {
  const at::Tensor d = distances.contiguous();
  const at::Tensor l = labels.to(at::kLong).contiguous();
  HardestPerRow out;
  AT_DISPATCH_FLOATING_TYPES(d.scalar_type(), "hardestPerRow", [&] { out = mine<scalar_t>(d, l, noPositive, splitTies); });
  return out;
}

namespace {

template <typename scalar_t>
void accumulatePairs(scalar_t* grad, const scalar_t* u, int64_t dim, const int64_t* rows, const int64_t* cols,
                     const scalar_t* factor, int64_t count, bool differences) {
  // serial: two pairs may share a row; each step is one D-long axpy-like loop the compiler vectorises
  for (int64_t t = 0; t < count; ++t) {
    const scalar_t f = factor[t];
    if (f == 0) continue;
    scalar_t* gr = grad + rows[t] * dim;
    scalar_t* gc = grad + cols[t] * dim;
    const scalar_t* ur = u + rows[t] * dim;
    const scalar_t* uc = u + cols[t] * dim;
    if (differences) {
      for (int64_t k = 0; k < dim; ++k) {
        const scalar_t g = f * (ur[k] - uc[k]);
        gr[k] += g;
        gc[k] -= g;
      }
    } else {
      for (int64_t k = 0; k < dim; ++k) {
        const scalar_t a = ur[k], b = uc[k];
        gr[k] -= f * b;
        gc[k] -= f * a;
      }
    }
  }
}

}  // namespace

void addPairGradient(at::Tensor& grad, const at::Tensor& u, const at::Tensor& rows, const at::Tensor& cols,
                     const at::Tensor& factor, bool differences) {
  const at::Tensor uc = u.contiguous();
  const at::Tensor r = rows.to(at::kLong).contiguous(), c = cols.to(at::kLong).contiguous();
  const at::Tensor f = factor.to(u.scalar_type()).contiguous();
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "addPairGradient", [&] {
    accumulatePairs<scalar_t>(grad.data_ptr<scalar_t>(), uc.data_ptr<scalar_t>(), u.size(1), r.data_ptr<int64_t>(),
                              c.data_ptr<int64_t>(), f.data_ptr<scalar_t>(), r.numel(), differences);
  });
}

}  // namespace tl::ops::cpu
