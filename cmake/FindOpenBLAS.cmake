# FindOpenBLAS
# ------------
# Finds OpenBLAS with its CBLAS header. Defines OpenBLAS_FOUND, OpenBLAS_INCLUDE_DIRS, OpenBLAS_LIBRARIES
# and the imported target OpenBLAS::OpenBLAS. Hint: OpenBLAS_ROOT (a prefix with include/ and lib/).

find_path(OpenBLAS_INCLUDE_DIR NAMES cblas.h
  HINTS ${OpenBLAS_ROOT} ENV OpenBLAS_ROOT
  PATH_SUFFIXES include include/openblas include/x86_64-linux-gnu/openblas-pthread include/x86_64-linux-gnu)

find_library(OpenBLAS_LIBRARY NAMES openblas libopenblas
  HINTS ${OpenBLAS_ROOT} ENV OpenBLAS_ROOT
  PATH_SUFFIXES lib lib64)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenBLAS REQUIRED_VARS OpenBLAS_LIBRARY OpenBLAS_INCLUDE_DIR)

if(OpenBLAS_FOUND)
  set(OpenBLAS_INCLUDE_DIRS ${OpenBLAS_INCLUDE_DIR})
  set(OpenBLAS_LIBRARIES ${OpenBLAS_LIBRARY})
  if(NOT TARGET OpenBLAS::OpenBLAS)
    add_library(OpenBLAS::OpenBLAS UNKNOWN IMPORTED)
    set_target_properties(OpenBLAS::OpenBLAS PROPERTIES
      IMPORTED_LOCATION "${OpenBLAS_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(OpenBLAS_INCLUDE_DIR OpenBLAS_LIBRARY)
