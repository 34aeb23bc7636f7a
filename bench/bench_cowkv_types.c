/* SPDX-License-Identifier: BSD-2-Clause */
#include "benchlib.h"

int main(int argc, char **argv) { return b_cowkv_types_main(argc, argv); }
