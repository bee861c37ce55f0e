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
  T* g = gram.data_ptr<T>();
  const bool euclidean = distance == Distance::Euclidean || distance == Distance::SquaredEuclidean;
  const bool root = distance == Distance::Euclidean;
  std::vector<T> norms(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) norms[static_cast<size_t>(i)] = g[i * n + i];
  SymmetricDistances out;
  out.distances = at::empty({n, n}, u.options());
  T* dist = out.distances.data_ptr<T>();
  const T floor = static_cast<T>(kEuclideanFloor);
  // 1. the lower triangle, row by row (contiguous, vectorisable); the Euclidean kinds overwrite
  // the products with the squared distances, whose diagonal is exactly 0
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T* gi = g + i * n;
      T* di = dist + i * n;
      const T ni = norms[static_cast<size_t>(i)];
      const T* nj = norms.data();
      if (euclidean) {
        const T low = root ? floor : T(0);
        for (int64_t j = 0; j < i; ++j) {
          const T d2 = ni + nj[j] - 2 * gi[j];
          gi[j] = d2;
          di[j] = std::max(d2, low);  // the square root comes after the mirror, vectorised by ATen
        }
        gi[i] = 0;
        di[i] = low;
      } else {
        const T offset = distance == Distance::Cosine ? T(1) : T(0);
        for (int64_t j = 0; j <= i; ++j) di[j] = offset - gi[j];
      }
    }
  });
  // 2. mirror into the upper triangle, a tile at a time through a local buffer: writing a
  // transposed tile straight into rows 4 KiB apart thrashes the cache's sets
  constexpr int64_t tile = 32;
  const int64_t tiles = (n + tile - 1) / tile;
  at::parallel_for(0, tiles, 1, [&](int64_t begin, int64_t end) {
    T buffer[tile * tile];
    for (int64_t bi = begin; bi < end; ++bi) {
      const int64_t i0 = bi * tile, i1 = std::min(n, i0 + tile);
      for (int64_t bj = 0; bj <= bi; ++bj) {
        const int64_t j0 = bj * tile, j1 = std::min(n, j0 + tile);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) buffer[(j - j0) * tile + (i - i0)] = dist[i * n + j];
        for (int64_t j = j0; j < j1; ++j) {
          // row j, columns i0..i1 of the upper triangle (j < i); the diagonal tile only above it
          const int64_t from = bj == bi ? j + 1 : i0;
          for (int64_t i = from; i < i1; ++i) dist[j * n + i] = buffer[(j - j0) * tile + (i - i0)];
        }
      }
    }
  });
  if (root) out.distances.sqrt_();
  // the squared distances stay a lower triangle: the backward reads them at (max, min)
  if (euclidean) out.squared = gram;
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
