module h2vault

go 1.19
