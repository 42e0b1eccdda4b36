# Third-party libraries, all from Debian 12 packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(RapidJSON REQUIRED)
find_package(simdjson REQUIRED)  # UTF-8 validation in codecs
find_package(CURL REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS headers)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(BSON REQUIRED IMPORTED_TARGET libbson-1.0)  # the bson codec
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)  # regex in transforms (linear time, Rust-regex syntax)
if(TRIB_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# RapidJSON's config exports only variables; wrap them in a target.
if(NOT TARGET trib_rapidjson)
  add_library(trib_rapidjson INTERFACE)
  target_include_directories(trib_rapidjson SYSTEM INTERFACE ${RapidJSON_INCLUDE_DIRS} ${RAPIDJSON_INCLUDE_DIRS})
  target_compile_definitions(trib_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
endif()

# Boost.Asio/Beast: header-only; no deprecated names, coroutines on.
if(NOT TARGET trib_asio)
  add_library(trib_asio INTERFACE)
  target_link_libraries(trib_asio INTERFACE Boost::headers Threads::Threads OpenSSL::SSL OpenSSL::Crypto)
  target_compile_definitions(trib_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE)
endif()
