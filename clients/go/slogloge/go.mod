module github.com/loge-dev/loge/clients/go/slogloge

go 1.22
