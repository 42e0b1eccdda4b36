# librdkafka for the Kafka connector, its tests and benchmarks: the imported target
# PkgConfig::RDKAFKA (GLOBAL), or none when no librdkafka is found (the connector is then left out).
#
# Preferred: the librdkafka 2.12.1 that scripts/setup_librdkafka.sh builds into
# .deps/librdkafka (TRIB_RDKAFKA_PREFIX), because Debian 12's 2.0.2 cannot log in with SCRAM to
# Kafka 4.x (confluentinc/librdkafka#4895). Fallback: the system's (pkg-config `rdkafka`), with a
# configure-time message. The library is linked by its full path, so CMake writes its directory
# into the binaries' RUNPATH: they find it without LD_LIBRARY_PATH.
if(TARGET PkgConfig::RDKAFKA)
  return()
endif()
set(TRIB_RDKAFKA_PREFIX "${PROJECT_SOURCE_DIR}/.deps/librdkafka" CACHE PATH
  "librdkafka install prefix preferred over the system's (scripts/setup_librdkafka.sh)")
# pkg_check_modules caches its answer (and the library path); look again at every configure so
# that a librdkafka built after the first configure is picked up.
unset(__pkg_config_checked_RDKAFKA CACHE)
unset(pkgcfg_lib_RDKAFKA_rdkafka CACHE)
set(_trib_saved_pc_path "$ENV{PKG_CONFIG_PATH}")
if(EXISTS "${TRIB_RDKAFKA_PREFIX}/lib/pkgconfig/rdkafka.pc")
  set(ENV{PKG_CONFIG_PATH} "${TRIB_RDKAFKA_PREFIX}/lib/pkgconfig:${_trib_saved_pc_path}")
endif()
pkg_check_modules(RDKAFKA QUIET IMPORTED_TARGET GLOBAL rdkafka)
set(ENV{PKG_CONFIG_PATH} "${_trib_saved_pc_path}")
unset(_trib_saved_pc_path)
if(NOT RDKAFKA_FOUND)
  return()
endif()
# .deps/librdkafka's rdkafka.pc is relocatable (prefix=${pcfiledir}/../..): compare real paths.
file(REAL_PATH "${pkgcfg_lib_RDKAFKA_rdkafka}" _trib_rdkafka_lib)
file(REAL_PATH "${TRIB_RDKAFKA_PREFIX}" _trib_rdkafka_prefix)
string(FIND "${_trib_rdkafka_lib}" "${_trib_rdkafka_prefix}/" _trib_rdkafka_at)
if(_trib_rdkafka_at EQUAL 0)
  message(STATUS "librdkafka ${RDKAFKA_VERSION} from ${TRIB_RDKAFKA_PREFIX}")
else()
  message(STATUS "librdkafka ${RDKAFKA_VERSION} from the system (${pkgcfg_lib_RDKAFKA_rdkafka}): "
    "${TRIB_RDKAFKA_PREFIX} has none (scripts/setup_librdkafka.sh builds 2.12.1). "
    "SCRAM logins to Kafka 4.x need librdkafka 2.6.1 or later.")
endif()
