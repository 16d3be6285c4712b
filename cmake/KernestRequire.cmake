# KernestRequire.cmake — before the required libraries are looked for: when one is missing, fail
# with the Debian package that provides it (pip install . shows this message as it is).
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "kernest: pkg-config was not found; on Debian/Ubuntu: "
                      "sudo apt-get install pkg-config (scripts/install-deps installs everything)")
endif()
set(_kn_missing "")
foreach(_kn_pair fftw3:libfftw3-dev fftw3f:libfftw3-dev libcjson:libcjson-dev)
  string(REPLACE ":" ";" _kn_parts "${_kn_pair}")
  list(GET _kn_parts 0 _kn_module)
  list(GET _kn_parts 1 _kn_deb)
  pkg_check_modules(_KN_PROBE_${_kn_module} QUIET ${_kn_module})
  if(NOT _KN_PROBE_${_kn_module}_FOUND AND NOT _kn_deb IN_LIST _kn_missing)
    list(APPEND _kn_missing ${_kn_deb})
  endif()
endforeach()
foreach(_kn_lib fftw3_omp fftw3f_omp)
  find_library(_KN_PROBE_${_kn_lib} ${_kn_lib})
  if(NOT _KN_PROBE_${_kn_lib} AND NOT libfftw3-dev IN_LIST _kn_missing)
    list(APPEND _kn_missing libfftw3-dev)
  endif()
endforeach()
if(_kn_missing)
  list(JOIN _kn_missing " " _kn_list)
  message(FATAL_ERROR "kernest: required libraries are missing; on Debian/Ubuntu: "
                      "sudo apt-get install ${_kn_list} (scripts/install-deps installs everything; "
                      "elsewhere install FFTW 3 with its OpenMP libraries and cJSON, and make "
                      "pkg-config find them)")
endif()
