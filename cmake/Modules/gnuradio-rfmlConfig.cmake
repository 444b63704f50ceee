find_package(PkgConfig)

PKG_CHECK_MODULES(PC_GR_RFML gnuradio-rfml)

FIND_PATH(
    GR_RFML_INCLUDE_DIRS
    NAMES gnuradio/rfml/api.h
    HINTS $ENV{RFML_DIR}/include
        ${PC_RFML_INCLUDEDIR}
    PATHS ${CMAKE_INSTALL_PREFIX}/include
          /usr/local/include
          /usr/include
)

FIND_LIBRARY(
    GR_RFML_LIBRARIES
    NAMES gnuradio-rfml
    HINTS $ENV{RFML_DIR}/lib
        ${PC_RFML_LIBDIR}
    PATHS ${CMAKE_INSTALL_PREFIX}/lib
          ${CMAKE_INSTALL_PREFIX}/lib64
          /usr/local/lib
          /usr/local/lib64
          /usr/lib
          /usr/lib64
          )

include("${CMAKE_CURRENT_LIST_DIR}/gnuradio-rfmlTarget.cmake")

INCLUDE(FindPackageHandleStandardArgs)
FIND_PACKAGE_HANDLE_STANDARD_ARGS(GR_RFML DEFAULT_MSG GR_RFML_LIBRARIES GR_RFML_INCLUDE_DIRS)
MARK_AS_ADVANCED(GR_RFML_LIBRARIES GR_RFML_INCLUDE_DIRS)
