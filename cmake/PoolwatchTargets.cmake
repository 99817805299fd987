# One static library per subsystem folder. A target declared SANS_IO builds with
# cmake/sans_io first on its include path, where Asio's and OpenSSL's configuration
# headers are replaced by an #error: the build, not a comment, keeps the logic free of
# networking. poolwatch_check_sans_io() also refuses, at configure time, a sans-io target
# that links (directly or through another of ours) Asio, Beast or OpenSSL.
#
#   poolwatch_library(<target> [SANS_IO | ASIO_PCH] SOURCES <files> [DEPENDS <targets>])
#
# ASIO_PCH: the target's files use the one precompiled header of the networking targets
# (poolwatch_asio_pch, made by poolwatch_asio_pch() below), built once for all of them.

set(POOLWATCH_SANS_IO_TARGETS "" CACHE INTERNAL "")

# The Asio, Beast and spdlog headers the networking files include: precompiled once for
# all of them instead of parsed again by each file.
set(POOLWATCH_ASIO_PCH
  <boost/asio/any_io_executor.hpp> <boost/asio/as_tuple.hpp> <boost/asio/awaitable.hpp>
  <boost/asio/co_spawn.hpp> <boost/asio/experimental/awaitable_operators.hpp>
  <boost/asio/ip/tcp.hpp> <boost/asio/redirect_error.hpp> <boost/asio/steady_timer.hpp>
  <boost/asio/use_awaitable.hpp> <boost/asio/ssl.hpp> <boost/beast/http.hpp>
  <spdlog/spdlog.h>)

# The donor of the shared precompiled header. A target may reuse it only if it compiles
# with the same flags and definitions, which every networking library here does: they
# all link poolwatch_common, poolwatch_asio and spdlog and add nothing else that defines.
function(poolwatch_asio_pch)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/poolwatch_asio_pch.cpp "// the shared PCH's own TU\n")
  add_library(poolwatch_asio_pch OBJECT ${CMAKE_CURRENT_BINARY_DIR}/poolwatch_asio_pch.cpp)
  target_include_directories(poolwatch_asio_pch PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(poolwatch_asio_pch PRIVATE ${POOLWATCH_WARNINGS})
  target_link_libraries(poolwatch_asio_pch PRIVATE poolwatch_common poolwatch_asio poolwatch_spdlog)
  target_precompile_headers(poolwatch_asio_pch PRIVATE ${POOLWATCH_ASIO_PCH})
endfunction()

# Asio's and OpenSSL's configuration headers become an #error for this target's files.
function(poolwatch_guard_sans_io target)
  target_include_directories(${target} BEFORE PRIVATE ${PROJECT_SOURCE_DIR}/cmake/sans_io)
endfunction()

function(poolwatch_library target)
  cmake_parse_arguments(ARG "SANS_IO;ASIO_PCH" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${target} PRIVATE ${POOLWATCH_WARNINGS})
  target_link_libraries(${target} PUBLIC ${ARG_DEPENDS})
  if(ARG_SANS_IO)
    poolwatch_guard_sans_io(${target})
    set(POOLWATCH_SANS_IO_TARGETS ${POOLWATCH_SANS_IO_TARGETS} ${target} CACHE INTERNAL "")
  endif()
  if(ARG_ASIO_PCH)
    target_precompile_headers(${target} REUSE_FROM poolwatch_asio_pch)
  endif()
endfunction()

# Everything `target` links, through our own targets (imported ones are leaves).
function(_poolwatch_links target out)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue current)
    if(current IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${current})
    if(TARGET ${current})
      get_target_property(imported ${current} IMPORTED)
      if(NOT imported)
        get_target_property(links ${current} INTERFACE_LINK_LIBRARIES)
        if(links)
          list(APPEND queue ${links})
        endif()
      endif()
    endif()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

function(poolwatch_check_sans_io)
  foreach(target ${POOLWATCH_SANS_IO_TARGETS})
    _poolwatch_links(${target} links)
    foreach(link ${links})
      if(link MATCHES "^(Boost::|OpenSSL::|poolwatch_asio$)")
        message(FATAL_ERROR "${target} is sans-io but links ${link}")
      endif()
    endforeach()
  endforeach()
endfunction()
