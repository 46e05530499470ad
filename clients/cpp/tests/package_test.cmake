# Builds example/ against the client twice, as an application would:
# through find_package(loge_client) after `cmake --install`, and through
# add_subdirectory. Each build must configure, compile, link and run.
#   cmake -DCLIENT_SOURCE_DIR=… -DCLIENT_BINARY_DIR=… -DWORK_DIR=… -DGENERATOR=… -P package_test.cmake
foreach(var CLIENT_SOURCE_DIR CLIENT_BINARY_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "package_test.cmake: -D${var}=… is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "ok: ${ARGN}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${CLIENT_BINARY_DIR} --prefix ${prefix})

# A port where nothing listens: the example logs, then Close gives up quickly.
set(url http://127.0.0.1:9)

run(${CMAKE_COMMAND} -S ${CLIENT_SOURCE_DIR}/example -B ${WORK_DIR}/installed -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/installed)
run(${WORK_DIR}/installed/loge_example ${url})

run(${CMAKE_COMMAND} -S ${CLIENT_SOURCE_DIR}/example -B ${WORK_DIR}/subdirectory -G ${GENERATOR}
    -DLOGE_CLIENT_SOURCE_DIR=${CLIENT_SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/subdirectory)
run(${WORK_DIR}/subdirectory/loge_example ${url})
