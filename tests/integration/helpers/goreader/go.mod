module goreader

go 1.19
