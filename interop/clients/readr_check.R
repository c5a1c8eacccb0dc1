# R's readr: read every CSV file of the release and compare its rows with the expected counts.
# Rscript readr_check.R FOLDER table=rows ...; one line per problem, exit 1 on any.
suppressPackageStartupMessages(library(readr))
args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
bad <- 0
for (pair in args[-1]) {
  parts <- strsplit(pair, "=", fixed = TRUE)[[1]]
  path <- file.path(folder, "data", paste0(parts[1], ".csv"))
  data <- read_csv(path, col_types = cols(.default = col_character()), na = "",
                   show_col_types = FALSE, progress = FALSE)
  issues <- problems(data)
  if (nrow(issues) > 0 || nrow(data) != as.integer(parts[2])) {
    message(sprintf("data/%s.csv: read %d rows (expected %s), %d parse problems",
                    parts[1], nrow(data), parts[2], nrow(issues)))
    bad <- bad + 1
  }
}
cat(sprintf("readr %s: read %d CSV files\n", as.character(packageVersion("readr")), length(args) - 1))
quit(status = if (bad > 0) 1 else 0)
