# Runs one CLI command and checks what a user would: the exit code, the output, and (optionally)
# that a file it should have written holds the expected records. ctest's PASS_REGULAR_EXPRESSION
# alone ignores the exit code, so a command that printed the right line and then failed passed.
#
#   cmake -DCMD="prog|arg|..." [-DWORKDIR=dir] -DEXPECT_RC=0 [-DEXPECT_OUT=regex]
#         [-DEXPECT_FILE=path -DEXPECT_RECORDS=n -DRECORD_KEY=regex-with-one-group]
#         -P check_cli.cmake
# EXPECT_FILE: a JSON-lines file whose lines each hold RECORD_KEY (e.g. "offset":([0-9]+)); the
# test passes when exactly EXPECT_RECORDS distinct keys are there (duplicates are allowed, loss
# is not) and every line has one.

if(NOT DEFINED CMD)
  message(FATAL_ERROR "check_cli.cmake: CMD is required")
endif()
if(NOT DEFINED EXPECT_RC)
  set(EXPECT_RC 0)
endif()
if(NOT DEFINED WORKDIR)
  set(WORKDIR ${CMAKE_CURRENT_BINARY_DIR})
endif()
string(REPLACE "|" ";" CMD "${CMD}")
execute_process(COMMAND ${CMD} WORKING_DIRECTORY ${WORKDIR}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT "${rc}" STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_RC}\n--- output ---\n${all}")
endif()
if(DEFINED EXPECT_OUT AND NOT all MATCHES "${EXPECT_OUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUT}'\n--- output ---\n${all}")
endif()
if(DEFINED EXPECT_FILE)
  if(NOT EXISTS ${EXPECT_FILE})
    message(FATAL_ERROR "${EXPECT_FILE} was not written\n--- output ---\n${all}")
  endif()
  file(STRINGS ${EXPECT_FILE} lines)
  set(keys "")
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(NOT line MATCHES "${RECORD_KEY}")
      message(FATAL_ERROR "line ${n} of ${EXPECT_FILE} has no ${RECORD_KEY}: ${line}")
    endif()
    list(APPEND keys "${CMAKE_MATCH_1}")
  endforeach()
  list(REMOVE_DUPLICATES keys)
  list(LENGTH keys distinct)
  if(NOT distinct EQUAL EXPECT_RECORDS)
    message(FATAL_ERROR
      "${EXPECT_FILE}: ${distinct} distinct records in ${n} lines, expected ${EXPECT_RECORDS}")
  endif()
  message(STATUS "${EXPECT_FILE}: ${distinct} distinct records in ${n} lines")
endif()
message(STATUS "exit code ${rc} as expected")
