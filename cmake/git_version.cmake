# Writes ${OUT} with the current git commit (and whether the tree is dirty),
# rewriting it only when it changed so that builds stay incremental.
execute_process(COMMAND git rev-parse HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  # A code snapshot (innereye submit: git archive) records its commit here.
  if(EXISTS ${SRC}/SOURCE_COMMIT)
    file(STRINGS ${SRC}/SOURCE_COMMIT commit LIMIT_COUNT 1)
    set(commit "${commit} (code snapshot)")
  else()
    set(commit "unknown (not a git checkout)")
  endif()
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT dirty STREQUAL "")
    set(commit "${commit}-dirty")
  endif()
endif()
set(content "#define IE_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE ${OUT} "${content}")
endif()
