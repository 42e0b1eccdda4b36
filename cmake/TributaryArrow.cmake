# Apache Arrow C++ and Parquet for the Parquet writer/reader (src/codecs/parquet.cpp): the imported
# target trib_arrow_parquet (GLOBAL) and TRIB_ARROW_FOUND, or TRIB_ARROW_FOUND=OFF when absent
# (the Parquet library then builds a stub that refuses with the reason).
#
# Where from: the pyarrow wheel from PyPI (scripts/setup.sh installs pyarrow==26.0.1 into the
# project's .venv). The wheel ships include/ (arrow/, parquet/) and libarrow.so.2600 /
# libparquet.so.2600 beside its Python modules, built with the C++11 ABI of libstdc++ (checked:
# `nm -DC libarrow.so.2600 | grep -c __cxx11` > 0; ToString() returns std::__cxx11::string) and
# needing GLIBCXX 3.4.22 at most, so it links straight into our GCC 12 code. The directory is
# TRIB_ARROW_DIR (default: the first .venv/lib/python3*/site-packages/pyarrow). The libraries are
# linked by their full path, so CMake writes their directory into the binaries' RUNPATH: the
# binaries find them at run time without LD_LIBRARY_PATH (the path is absolute: moving the
# checkout means building again).
if(TARGET trib_arrow_parquet)
  return()
endif()
file(GLOB _trib_pyarrow_dirs "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/pyarrow")
set(_trib_pyarrow_default "")
if(_trib_pyarrow_dirs)
  list(GET _trib_pyarrow_dirs 0 _trib_pyarrow_default)
endif()
set(TRIB_ARROW_DIR "${_trib_pyarrow_default}" CACHE PATH
  "pyarrow package directory holding include/ and libarrow.so.* (scripts/setup.sh installs it)")
if(TRIB_ARROW_DIR STREQUAL "" AND _trib_pyarrow_default)
  set(TRIB_ARROW_DIR "${_trib_pyarrow_default}" CACHE PATH "" FORCE)
endif()
set(TRIB_ARROW_FOUND OFF)
if(TRIB_ARROW_DIR AND EXISTS "${TRIB_ARROW_DIR}/include/parquet/arrow/writer.h")
  file(GLOB _trib_libarrow "${TRIB_ARROW_DIR}/libarrow.so.[0-9]*")
  file(GLOB _trib_libparquet "${TRIB_ARROW_DIR}/libparquet.so.[0-9]*")
  # Keep the SONAME files only (libarrow.so.2600, not libarrow.so.2600.1.0).
  list(FILTER _trib_libarrow INCLUDE REGEX "libarrow\\.so\\.[0-9]+$")
  list(FILTER _trib_libparquet INCLUDE REGEX "libparquet\\.so\\.[0-9]+$")
  if(_trib_libarrow AND _trib_libparquet)
    list(GET _trib_libarrow 0 _trib_libarrow)
    list(GET _trib_libparquet 0 _trib_libparquet)
    add_library(trib_arrow_core SHARED IMPORTED GLOBAL)
    set_target_properties(trib_arrow_core PROPERTIES IMPORTED_LOCATION "${_trib_libarrow}"
      INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${TRIB_ARROW_DIR}/include"
      INTERFACE_INCLUDE_DIRECTORIES "${TRIB_ARROW_DIR}/include")
    add_library(trib_arrow_parquet SHARED IMPORTED GLOBAL)
    set_target_properties(trib_arrow_parquet PROPERTIES IMPORTED_LOCATION "${_trib_libparquet}"
      INTERFACE_LINK_LIBRARIES trib_arrow_core)
    set(TRIB_ARROW_FOUND ON)
    get_filename_component(_trib_arrow_so "${_trib_libarrow}" NAME)
    message(STATUS "Apache Arrow/Parquet (${_trib_arrow_so}) from ${TRIB_ARROW_DIR}")
  endif()
endif()
if(NOT TRIB_ARROW_FOUND)
  message(STATUS "Apache Arrow not found (TRIB_ARROW_DIR='${TRIB_ARROW_DIR}'): Parquet output "
    "and input are left out (they fail with \"built without Apache Arrow\"). "
    "scripts/setup.sh installs pyarrow into .venv; configure again after it.")
endif()
