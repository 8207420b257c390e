# install.cmake - what `cmake --install` installs and `cpack -G DEB`
# packages (included by the top-level CMakeLists.txt):
#
#   bin/hstsproxy                       the program
#   share/man/man1/hstsproxy.1          the manual (docs/hstsproxy.1)
#   lib/systemd/system/hstsproxy.service
#                                       the unit (hstsproxy.service.in;
#                                       ExecStart names bin/hstsproxy
#                                       under the prefix being installed)
#   /etc/hstsproxy/hstsproxy.conf       an example configuration (a
#                                       conffile of the Debian package)
#
# The package's dependencies are computed by dpkg-shlibdeps from the
# binary (libuv1, libssl3, libsqlite3-0, libpsl5, libcrypt1, libc6).
include(GNUInstallDirs)
set(HSTSPROXY_DIST_DIR ${CMAKE_CURRENT_LIST_DIR})

install(TARGETS hstsproxy RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/hstsproxy.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${HSTSPROXY_DIST_DIR}/hstsproxy.conf DESTINATION /etc/hstsproxy)
# The unit is made at install time: CMAKE_INSTALL_PREFIX is then the
# prefix of this installation (/usr for the package, /usr/local or
# --prefix for cmake --install).
install(CODE "
  set(HSTSPROXY_BIN \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/hstsproxy\")
  configure_file(\"${HSTSPROXY_DIST_DIR}/hstsproxy.service.in\"
                 \"${PROJECT_BINARY_DIR}/dist/hstsproxy.service\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/dist/hstsproxy.service
        DESTINATION lib/systemd/system)

set(CPACK_PACKAGE_NAME hstsproxy)
set(CPACK_PACKAGE_VENDOR "hstsproxy")
set(CPACK_PACKAGE_CONTACT "hstsproxy maintainers <hstsproxy@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "HSTS-aware HTTP forward proxy")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Answers plain-HTTP requests to hosts with an HSTS policy (the preload
list, learned or manual policies) with an internal 307 to https, as
browsers do, forwards the rest, and logs every redirect hop.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${HSTSPROXY_DIST_DIR}/conffiles ${HSTSPROXY_DIST_DIR}/postinst
    ${HSTSPROXY_DIST_DIR}/prerm ${HSTSPROXY_DIST_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
