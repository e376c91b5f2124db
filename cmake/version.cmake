# Writes OUT (a header defining NETKEEP_VERSION) from VERSION and, in a git
# checkout at SRC, `git describe`. Run at every build; the file is only
# rewritten when the text changes, so nothing recompiles needlessly.
set(text "${VERSION}")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SRC}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --tags
                  WORKING_DIRECTORY "${SRC}" OUTPUT_VARIABLE describe
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE result)
  if(result EQUAL 0 AND describe)
    set(text "${VERSION} (git ${describe})")
  endif()
endif()
set(header "#define NETKEEP_VERSION \"${text}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL header)
  file(WRITE "${OUT}" "${header}")
endif()
