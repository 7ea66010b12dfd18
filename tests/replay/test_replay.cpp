// Replay of shared/data/online_retail.csv.gz through exec: being written.
#include <catch2/catch.hpp>
