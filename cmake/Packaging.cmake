# Packaging.cmake — what `cmake --install` puts where, and the Debian
# package built by `cmake --build build --target package` (CPack DEB).
#
# Installs, besides the program (probe/CMakeLists.txt), the manual page
# (compressed with gzip -9n, as Debian policy §12.1 asks, when gzip is
# there), the bash and zsh completions, README.md, docs/*.md, the JSON
# Schemas of docs/schema/, the copyright file and a changelog, all under
# the GNUInstallDirs locations.
# The package takes its version from project(), its library dependencies
# from dpkg-shlibdeps (dpkg-dev), and installs under /usr.
include(GNUInstallDirs)

find_program(SMTPPROBE_GZIP gzip)

# Install SRC gzipped (gzip -9n: no name or time stamp in the header, so
# the same file always gives the same bytes) as NAME.gz into DEST; as it
# is when there is no gzip.
function(smtpprobe_install_gzipped src name dest)
  if(NOT SMTPPROBE_GZIP)
    install(FILES ${src} DESTINATION ${dest} RENAME ${name})
    return()
  endif()
  set(dir ${PROJECT_BINARY_DIR}/gz)
  add_custom_command(OUTPUT ${dir}/${name}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${CMAKE_COMMAND} -E copy ${src} ${dir}/${name}
    COMMAND ${SMTPPROBE_GZIP} -9nf ${dir}/${name}
    DEPENDS ${src}
    COMMENT "Compressing ${name}"
    VERBATIM)
  add_custom_target(smtpprobe_gz_${name} ALL DEPENDS ${dir}/${name}.gz)
  install(FILES ${dir}/${name}.gz DESTINATION ${dest})
endfunction()

smtpprobe_install_gzipped(${PROJECT_SOURCE_DIR}/docs/smtpprobe.1 smtpprobe.1
  ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES ${PROJECT_SOURCE_DIR}/completion/smtpprobe.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME smtpprobe)
install(FILES ${PROJECT_SOURCE_DIR}/completion/_smtpprobe
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

file(GLOB SMTPPROBE_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${SMTPPROBE_DOCS}
  ${PROJECT_SOURCE_DIR}/docs/copyright
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The JSON Schemas of the reports (docs/REPORT-FORMAT.md, "Versioned JSON").
file(GLOB SMTPPROBE_SCHEMAS CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/docs/schema/*.schema.json)
install(FILES ${SMTPPROBE_SCHEMAS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/schema)

set(SMTPPROBE_DEB_MAINTAINER
  "smtpprobe maintainers <maintainers@users.noreply.b-seed-2a400fd0.example>"
  CACHE STRING "Maintainer field of the Debian package")

# Debian policy §12.7 wants a changelog in every package (lintian:
# no-changelog).  The history is the project's git log; this entry only
# names the version.  The date honours SOURCE_DATE_EPOCH.
string(TIMESTAMP SMTPPROBE_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${PROJECT_BINARY_DIR}/changelog
"smtpprobe (${PROJECT_VERSION}) unstable; urgency=medium

  * smtpprobe ${PROJECT_VERSION}, built from its sources with CMake and CPack.

 -- ${SMTPPROBE_DEB_MAINTAINER}  ${SMTPPROBE_DEB_DATE}
")
smtpprobe_install_gzipped(${PROJECT_BINARY_DIR}/changelog changelog
  ${CMAKE_INSTALL_DOCDIR})

# The Debian package: a native one (version without a Debian revision),
# since it is built from the project's own tree.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME smtpprobe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${SMTPPROBE_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "SMTP diagnostic probe: would mail to an address be accepted?")
set(CPACK_PACKAGE_DESCRIPTION
"smtpprobe asks the mail servers of an address whether they would accept
mail for it, without sending any: it resolves the MX records, connects,
walks the SMTP dialogue (greeting, EHLO, STARTTLS with a certificate check,
AUTH, MAIL FROM, RCPT TO) and stops before DATA.  Every reply is checked
against RFC 5321 and explained in plain words: what it means, the likely
cause, what to do and who has to act.
.
It also checks lists of addresses politely, tests which HELO names a
server accepts and whether it is an open relay, audits how this host
looks to mail servers (reverse DNS, HELO name), and explains SMTP replies
and bounce messages offline.  Reports are text or JSON.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SMTPPROBE_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the libraries the binary links (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
