// SPDX-License-Identifier: MIT
// One of the two objects that emit the COMDAT functions of cxx-comdat.h.
#include "cxx-comdat.h"

extern const cxxc::table cxxc_table_a = CXXC_TABLE_INIT;
