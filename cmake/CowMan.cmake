# SPDX-License-Identifier: BSD-2-Clause
# Man pages: man/NAME.SECTION.scd (scdoc source) -> build/man/NAME.SECTION
# (roff), installed under share/man/manSECTION. Without scdoc (Debian
# package scdoc) the pages are left out, with a message.
find_program(COW_SCDOC scdoc)
if(NOT COW_SCDOC)
  message(STATUS "scdoc not found: man pages not built (Debian: apt-get install scdoc)")
  return()
endif()
file(GLOB COW_MAN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.scd)
set(COW_MAN_PAGES "")
foreach(src ${COW_MAN_SOURCES})
  get_filename_component(page ${src} NAME_WLE)          # cow.1
  string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section ${page})
  set(out ${PROJECT_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND sh -c "\"$1\" < \"$2\" > \"$3.tmp\" && mv \"$3.tmp\" \"$3\"" scdoc ${COW_SCDOC} ${src} ${out}
    DEPENDS ${src} VERBATIM
    COMMENT "scdoc ${page}")
  list(APPEND COW_MAN_PAGES ${out})
  if(COW_INSTALL)
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endif()
endforeach()
add_custom_target(cow_man ALL DEPENDS ${COW_MAN_PAGES})
