# One warning policy for every target of the project (not for third-party headers).
add_library(cg_warnings INTERFACE)
target_compile_options(cg_warnings INTERFACE -Wall -Wextra -Wpedantic
  -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(cg_warnings INTERFACE -Wshadow=local)
else()
  target_compile_options(cg_warnings INTERFACE -Wshadow-uncaptured-local)
endif()
if(CG_WARNINGS_AS_ERRORS)
  target_compile_options(cg_warnings INTERFACE -Werror)
endif()
