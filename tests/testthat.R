library(testthat)
library(radiogx)
test_check("radiogx")
