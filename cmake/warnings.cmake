# One warning policy for every target of the project (not for third-party headers).
add_library(cg_warnings INTERFACE)
target_compile_options(cg_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
  -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual -Wformat=2)
if(CG_WARNINGS_AS_ERRORS)
  target_compile_options(cg_warnings INTERFACE -Werror)
endif()
