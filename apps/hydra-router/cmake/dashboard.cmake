# The router's web dashboard (apps/hydra-router/dashboard/*), embedded into the binary.
#
#   include(${CMAKE_CURRENT_SOURCE_DIR}/cmake/dashboard.cmake)
#   target_sources(<library> PRIVATE ${HYDRA_DASHBOARD_SOURCE})
#
# Sets HYDRA_DASHBOARD_SOURCE (the generated .cpp defining hydra::router::find_dashboard_asset)
# and HYDRA_DASHBOARD_DIR (the dashboard files). The generated file is rebuilt whenever a
# dashboard file or the embedding script changes; adding or removing a file re-runs CMake.
# Use the generated source in the directory that includes this file (add_custom_command rule).
include_guard(DIRECTORY)

get_filename_component(HYDRA_DASHBOARD_DIR "${CMAKE_CURRENT_LIST_DIR}/../dashboard" ABSOLUTE)
set(HYDRA_DASHBOARD_SOURCE "${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.cpp")

block(SCOPE_FOR VARIABLES)
  set(script "${CMAKE_CURRENT_LIST_DIR}/embed_assets.cmake")
  file(GLOB_RECURSE files CONFIGURE_DEPENDS LIST_DIRECTORIES false "${HYDRA_DASHBOARD_DIR}/*")
  add_custom_command(
    OUTPUT "${HYDRA_DASHBOARD_SOURCE}"
    COMMAND "${CMAKE_COMMAND}" "-DINPUT_DIR=${HYDRA_DASHBOARD_DIR}"
            "-DOUTPUT=${HYDRA_DASHBOARD_SOURCE}" -P "${script}"
    DEPENDS ${files} "${script}"
    COMMENT "Embedding the router dashboard (${HYDRA_DASHBOARD_DIR})"
    VERBATIM)
  # The generated file includes "dashboard_assets.hpp" from apps/hydra-router/src.
  get_filename_component(header_dir "${CMAKE_CURRENT_LIST_DIR}/../src" ABSOLUTE)
  set_source_files_properties("${HYDRA_DASHBOARD_SOURCE}" PROPERTIES
    GENERATED TRUE
    INCLUDE_DIRECTORIES "${header_dir}")
endblock()
