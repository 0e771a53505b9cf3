package postgres_test

import (
	"testing"

	"github.com/genzai/genzai/ports/portstest"
)

func TestAuditLogContract(t *testing.T) {
	portstest.RunAuditLog(t, func(t *testing.T) portstest.Audit {
		db := open(t)
		return portstest.Audit{Users: db, Log: db, Changes: db}
	})
}
