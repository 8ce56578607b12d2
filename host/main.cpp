// The trellis executable: everything lives in trellis_host_core.
#include <iostream>

#include "trellis/host/cli.hpp"

int main(int argc, char** argv) { return trellis::host::run_cli(argc, argv, std::cout, std::cerr); }
