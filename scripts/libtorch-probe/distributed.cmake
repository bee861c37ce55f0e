# Whether the addon can be built with distributed support (native/distributed/): libtorch's c10d headers
# ship with libtorch, Gloo's headers do not always (Debian: libgloo-dev). Included after
# find_package(Torch) by CMakeLists.txt and by the node-gyp probe, so both builds decide alike.
# Sets TL_DISTRIBUTED (ON/OFF), TL_DISTRIBUTED_REASON and TL_GLOO_INCLUDE_DIR.
# TORCH_LOSSES_NO_DISTRIBUTED=1 in the environment turns it off (to test the fallback).
set(TL_DISTRIBUTED OFF)
find_path(TL_C10D_INCLUDE_DIR torch/csrc/distributed/c10d/ProcessGroupGloo.hpp
  PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH NO_CACHE)
find_path(TL_GLOO_INCLUDE_DIR gloo/algorithm.h HINTS ${TORCH_INCLUDE_DIRS} NO_CACHE)
if("$ENV{TORCH_LOSSES_NO_DISTRIBUTED}" STREQUAL "1")
  set(TL_DISTRIBUTED_REASON "TORCH_LOSSES_NO_DISTRIBUTED=1")
elseif(NOT TL_C10D_INCLUDE_DIR)
  set(TL_DISTRIBUTED_REASON "libtorch has no c10d headers (torch/csrc/distributed/c10d)")
elseif(NOT TL_GLOO_INCLUDE_DIR)
  set(TL_DISTRIBUTED_REASON "Gloo's headers (gloo/algorithm.h) were not found: apt-get install libgloo-dev")
else()
  set(TL_DISTRIBUTED ON)
  set(TL_DISTRIBUTED_REASON "")
endif()
