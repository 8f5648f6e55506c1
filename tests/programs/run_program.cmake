# Runs one test program (cmake -DPROGRAM=<file> -DNAME=<name> [-DEMULATOR=<a|b>] -P this) and
# passes only when all of these hold:
# - it exits with 0 (a crash, an abort or a check that failed does not);
# - it printed "<name>: passed", which each program prints from the last thing it runs (a static
#   destructor, an atexit handler, a thread_local destructor), so a stage that never ran fails;
# - it printed no "FAILED" line and no report of a crash (Wine prints "Unhandled exception" and,
#   with a crash in another thread, may still exit with 0; glibc prints "double free").
# The emulator (CMAKE_CROSSCOMPILING_EMULATOR) is given with '|' between its arguments.
string(REPLACE "|" ";" emulator "${EMULATOR}")
execute_process(COMMAND ${emulator} ${PROGRAM}
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output TIMEOUT 120)
message("${output}")
set(problems)
if(NOT result STREQUAL "0")
  list(APPEND problems "it exited with '${result}'")
endif()
if(NOT output MATCHES "${NAME}: passed")
  list(APPEND problems "it did not print '${NAME}: passed' (a stage did not run)")
endif()
if(output MATCHES "FAILED")
  list(APPEND problems "a check FAILED")
endif()
if(output MATCHES "Unhandled (exception|page fault)|double free|free\\(\\): invalid|corrupted")
  list(APPEND problems "it crashed")
endif()
if(problems)
  list(JOIN problems "; " problems)
  message(FATAL_ERROR "${NAME}: ${problems}")
endif()
