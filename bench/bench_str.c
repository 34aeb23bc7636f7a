/* SPDX-License-Identifier: BSD-2-Clause */
/* bench_str — see bench/b_str.c. */
int b_str_main(int argc, char **argv);
int main(int argc, char **argv) { return b_str_main(argc, argv); }
