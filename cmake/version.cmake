# Writes OUT with the git commit of SRC, only when it changed, so that
# `switchyard --version` names the commit it was built from. Run at every
# build (a custom target), not only when CMake configures.
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE commit ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT commit)
  set(commit "unknown")
endif()
set(content "#pragma once\n#define SWITCHYARD_VERSION \"${VERSION}\"\n#define SWITCHYARD_GIT_COMMIT \"${commit}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" previous)
endif()
if(NOT "${previous}" STREQUAL "${content}")
  file(WRITE "${OUT}" "${content}")
endif()
