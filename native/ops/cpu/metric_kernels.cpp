#include "metric_kernels.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <limits>
#include <type_traits>

#include <algorithm>
#include <cmath>
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

namespace {

// Fortran BLAS syrk (C = alpha A^T A + beta C for column-major A), found at run time in the BLAS
// libtorch loaded (libblas.so.3 / OpenBLAS): ATen has no symmetric product.
template <typename T>
using Syrk = void (*)(const char*, const char*, const int*, const int*, const T*, const T*, const int*, const T*, T*,
                      const int*);

template <typename T>
Syrk<T> findSyrk() {
  static const Syrk<T> found = [] {
    const char* symbol = std::is_same_v<T, float> ? "ssyrk_" : "dsyrk_";
    for (const char* library : {"libblas.so.3", "libopenblas.so.0", "libmkl_rt.so"}) {
      if (void* handle = dlopen(library, RTLD_LAZY | RTLD_NOLOAD)) {
        if (void* f = dlsym(handle, symbol)) return reinterpret_cast<Syrk<T>>(f);
      }
    }
    return static_cast<Syrk<T>>(nullptr);
  }();
  return found;
}

template <typename T>
std::optional<SymmetricDistances> symmetric(const at::Tensor& u, Distance distance) {
  const Syrk<T> syrk = findSyrk<T>();
  const int64_t n = u.size(0), dim = u.size(1);
  if (syrk == nullptr || n > 46340 || dim > std::numeric_limits<int>::max()) return std::nullopt;
  // Row-major u (n, dim) is column-major A (dim, n): A^T A = u u^T. uplo 'U' fills column-major
  // C(i, j), i <= j, i.e. the row-major lower triangle gram[j * n + i], j >= i.
  at::Tensor gram = at::zeros({n, n}, u.options());
  const int nn = static_cast<int>(n), kk = static_cast<int>(dim);
  const T one = 1, zero = 0;
  syrk("U", "T", &nn, &kk, &one, u.data_ptr<T>(), &kk, &zero, gram.data_ptr<T>(), &nn);
  const T* g = gram.data_ptr<T>();
  const bool euclidean = distance == Distance::Euclidean || distance == Distance::SquaredEuclidean;
  SymmetricDistances out;
  out.distances = at::empty({n, n}, u.options());
  if (euclidean) out.squared = at::empty({n, n}, u.options());
  T* dist = out.distances.data_ptr<T>();
  T* sq = euclidean ? out.squared.data_ptr<T>() : nullptr;
  // Both halves from the lower triangle, tile by tile so that the transposed writes stay in cache.
  constexpr int64_t tile = 64;
  at::parallel_for(0, (n + tile - 1) / tile, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bi = begin; bi < end; ++bi) {
      for (int64_t bj = 0; bj <= bi; ++bj) {
        for (int64_t i = bi * tile; i < std::min(n, (bi + 1) * tile); ++i) {
          for (int64_t j = bj * tile; j < std::min(bj == bi ? i + 1 : n, (bj + 1) * tile); ++j) {
            const T product = g[i * n + j];
            T value;
            if (euclidean) {
              // ||u_i||² + ||u_j||² - 2 u_i·u_j; a row's distance to itself is exactly 0
              const T d2 = i == j ? T(0) : g[i * n + i] + g[j * n + j] - 2 * product;
              sq[i * n + j] = sq[j * n + i] = d2;
              value = distance == Distance::Euclidean ? std::sqrt(std::max(d2, static_cast<T>(kEuclideanFloor)))
                                                      : std::max(d2, T(0));
            } else {
              value = distance == Distance::Cosine ? 1 - product : -product;
            }
            dist[i * n + j] = dist[j * n + i] = value;
          }
        }
      }
    }
  });
  return out;
}

}  // namespace

std::optional<SymmetricDistances> symmetricDistances(const at::Tensor& u, Distance distance) {
  if (!u.is_cpu() || !u.is_contiguous() || u.dim() != 2) return std::nullopt;
  if (u.scalar_type() == at::kFloat) return symmetric<float>(u, distance);
  if (u.scalar_type() == at::kDouble) return symmetric<double>(u, distance);
  return std::nullopt;
}

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
