# SPDX-License-Identifier: BSD-2-Clause
# Install rules: the libraries, the headers (cow.h and the generated
# cow_version.h), the tools, a relocatable libcow.pc and the CMake package
# libcow (find_package(libcow CONFIG): libcow::cow, libcow::cow_static).
include(CMakePackageConfigHelpers)

set(COW_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/libcow)

install(TARGETS cow_static cow_shared EXPORT libcowTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET cow_tool)
  install(TARGETS cow_tool cowkv RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/include/cow.h ${PROJECT_BINARY_DIR}/include/cow_version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The CMake package.
install(EXPORT libcowTargets NAMESPACE libcow:: FILE libcowTargets.cmake
        DESTINATION ${COW_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/libcowConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/libcowConfig.cmake
                              INSTALL_DESTINATION ${COW_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/libcowConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/libcowConfig.cmake
              ${PROJECT_BINARY_DIR}/libcowConfigVersion.cmake
        DESTINATION ${COW_CMAKE_DIR})
# The same package for the build tree: -Dlibcow_DIR=build finds it there.
export(EXPORT libcowTargets NAMESPACE libcow:: FILE ${PROJECT_BINARY_DIR}/libcowTargets.cmake)

# libcow.pc, relocatable: its prefix is found from where the file lies
# (${pcfiledir}), so `cmake --install --prefix P` and DESTDIR both work.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(COW_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(COW_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(COW_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH COW_PC_UP /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
  string(REGEX REPLACE "/$" "" COW_PC_UP "${COW_PC_UP}")
  set(COW_PC_PREFIX "\${pcfiledir}/${COW_PC_UP}")
  set(COW_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(COW_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(COW_PC_EXTRA_CFLAGS "")
configure_file(${PROJECT_SOURCE_DIR}/libcow.pc.in ${PROJECT_BINARY_DIR}/pc-install/libcow.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pc-install/libcow.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
# build/libcow.pc describes the build tree itself, for linking against an
# uninstalled build: PKG_CONFIG_PATH=build pkg-config --libs libcow.
set(COW_PC_PREFIX "${PROJECT_BINARY_DIR}")
set(COW_PC_LIBDIR "\${prefix}")
set(COW_PC_INCLUDEDIR "${PROJECT_SOURCE_DIR}/include")
set(COW_PC_EXTRA_CFLAGS " -I${PROJECT_BINARY_DIR}/include")
configure_file(${PROJECT_SOURCE_DIR}/libcow.pc.in ${PROJECT_BINARY_DIR}/libcow.pc @ONLY)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
              ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
