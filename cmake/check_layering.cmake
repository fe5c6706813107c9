# Checks that the sources of one module include only the modules it reaches.
#   cmake -DSRC=<src dir> -DMODULE=<name> -DREACH=<name;dep;...> -P check_layering.cmake
# or, for every module listed in a file written by CMakeLists.txt ("name:dep,dep,..." per line):
#   cmake -DSRC=<src dir> -DGRAPH=<build>/layering.txt -P check_layering.cmake
# Fails (exit status 1) naming each file and include that crosses the graph.
cmake_minimum_required(VERSION 3.25)

function(check_module module reach)
  file(GLOB files ${SRC}/${module}/*.cpp ${SRC}/${module}/*.hpp)
  set(bad "")
  foreach(f IN LISTS files)
    file(STRINGS ${f} includes REGEX "^#include \"[a-z_]+/")
    foreach(inc IN LISTS includes)
      string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" folder "${inc}")
      if(NOT folder IN_LIST reach)
        string(APPEND bad "  ${f}: ${inc} (src/${module} reaches only: ${reach})\n")
      endif()
    endforeach()
  endforeach()
  if(bad)
    message(SEND_ERROR "Includes across the module graph of src/ (add the dependency in "
                       "CMakeLists.txt if it keeps the graph acyclic, else move the code):\n${bad}")
  endif()
endfunction()

if(DEFINED GRAPH)
  file(STRINGS ${GRAPH} lines)
  if(NOT lines)
    message(FATAL_ERROR "${GRAPH}: no modules")
  endif()
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "[:,]" ";" parts "${line}")
    list(POP_FRONT parts module)
    check_module(${module} "${parts}")
  endforeach()
else()
  check_module(${MODULE} "${REACH}")
endif()
