// CPU kernels of the metric losses (metric_losses.cpp), each replacing a chain of ATen ops whose
// temporaries cost more than the arithmetic; the ATen versions stay the device-generic path and
// the reference the tests compare with.
//   hardestPerRow     batch-hard mining: one pass per row of the distance matrix finds the
//                     hardest positive and negative and counts their ties (~12 masked (N, N) ops)
//   addPairGradient   the closed-form backward over mined pairs, accumulated row by row without
//                     the (T, D) gathers and index_add of the generic version
//   symmetricDistances  the (N, N) distance matrix of a batch with itself from BLAS syrk (half the
//                     flops of a matrix product) and one fused pass for norms, clamp and sqrt
#pragma once
#include <ATen/ATen.h>

#include <optional>

#include "../miners.h"
#include "../pairwise_distance.h"

namespace tl::ops::cpu {

struct HardestPerRow {
  at::Tensor hasPositive, hasNegative, valid;     // (N) bool; hasPositive before NoPositive::Self
  at::Tensor positiveDistance, negativeDistance;  // (N) in the matrix's dtype, 0 where not valid
  // The mined entries of the valid rows: one per row, or with splitTies every tied entry, each
  // with its share (1 / number of tied entries) of the row's gradient.
  at::Tensor positiveRows, positiveCols, positiveShare;
  at::Tensor negativeRows, negativeCols, negativeShare;
};

// distances (N, N) contiguous CPU float/double, labels (N) int64 CPU. NoPositive::Self makes an
// anchor without positives its own positive; ties go to the lowest index or are split.
HardestPerRow hardestPerRow(const at::Tensor& distances, const at::Tensor& labels, NoPositive noPositive,
                            bool splitTies);

// For every pair t = (rows_t, cols_t) with factor f_t:
//   differences (Euclidean kinds):  grad[r] += f (u_r - u_c),  grad[c] -= f (u_r - u_c)
//   products (cosine, dot):         grad[r] -= f u_c,          grad[c] -= f u_r
// grad and u (N, D) contiguous CPU of one float dtype, rows / cols int64, factor (T) of u's dtype.
// The distances of the rows of u among themselves, as distanceMatrixOfPrepared(u, u, distance)
// and, for the Euclidean kinds, the unclamped squared distances (diagonal exactly 0) in the lower
// triangle only (row >= column; the upper one is undefined: read (max, min)). nullopt
// when u is not a contiguous CPU float/double matrix or no BLAS syrk is loaded.
struct SymmetricDistances {
  at::Tensor squared, distances;
};
std::optional<SymmetricDistances> symmetricDistances(const at::Tensor& u, Distance distance);

void addPairGradient(at::Tensor& grad, const at::Tensor& u, const at::Tensor& rows, const at::Tensor& cols,
                     const at::Tensor& factor, bool differences);

}  // namespace tl::ops::cpu
