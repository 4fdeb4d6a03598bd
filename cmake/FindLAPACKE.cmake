# FindLAPACKE
# -----------
# Finds the LAPACKE C interface to LAPACK (Debian: liblapacke-dev; vcpkg: lapack-reference or openblas).
# Defines LAPACKE_FOUND, LAPACKE_INCLUDE_DIRS, LAPACKE_LIBRARIES and the imported target LAPACKE::LAPACKE.
# Hint: LAPACKE_ROOT (a prefix holding include/lapacke.h and lib/).

find_path(LAPACKE_INCLUDE_DIR NAMES lapacke.h
  HINTS ${LAPACKE_ROOT} ENV LAPACKE_ROOT ${OpenBLAS_ROOT} ENV OpenBLAS_ROOT
  PATH_SUFFIXES include include/openblas include/lapacke)

# OpenBLAS usually carries LAPACKE inside libopenblas; Debian ships it as liblapacke.
find_library(LAPACKE_LIBRARY NAMES lapacke liblapacke openblas libopenblas
  HINTS ${LAPACKE_ROOT} ENV LAPACKE_ROOT ${OpenBLAS_ROOT} ENV OpenBLAS_ROOT
  PATH_SUFFIXES lib lib64)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LAPACKE REQUIRED_VARS LAPACKE_LIBRARY LAPACKE_INCLUDE_DIR)

if(LAPACKE_FOUND)
  set(LAPACKE_INCLUDE_DIRS ${LAPACKE_INCLUDE_DIR})
  set(LAPACKE_LIBRARIES ${LAPACKE_LIBRARY})
  if(NOT TARGET LAPACKE::LAPACKE)
    add_library(LAPACKE::LAPACKE UNKNOWN IMPORTED)
    set_target_properties(LAPACKE::LAPACKE PROPERTIES
      IMPORTED_LOCATION "${LAPACKE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LAPACKE_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(LAPACKE_INCLUDE_DIR LAPACKE_LIBRARY)
