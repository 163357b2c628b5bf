# Run by `cmake --install` (install(CODE) in CMakeLists.txt): writes the
# systemd units from dist/systemd/*.in with the paths of this install, so
# that `cmake --install build --prefix /opt/x` yields units that start
# /opt/x/bin/ebaysync. Expects SRC (the source tree), OUT (a scratch folder
# in the build tree), UNIT_DIR (the units' destination, without DESTDIR),
# ES_BINDIR, ES_DOC_DIR and ES_ENV_FILE (absolute paths written into the
# units).
get_filename_component(ES_ENV_DIR "${ES_ENV_FILE}" DIRECTORY)
file(GLOB units "${SRC}/dist/systemd/*.in")
set(made)
foreach(in ${units})
  get_filename_component(name "${in}" NAME)
  string(REGEX REPLACE "\\.in$" "" name "${name}")
  configure_file("${in}" "${OUT}/${name}" @ONLY)
  list(APPEND made "${OUT}/${name}")
endforeach()
file(INSTALL DESTINATION "${UNIT_DIR}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ FILES ${made})
