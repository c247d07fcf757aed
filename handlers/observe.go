package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// observeRequests counts every request by its route pattern (gin's FullPath:
// "/issues/:id", never the path with its id or token) and status, with its
// latency. It runs first, so the time includes every other middleware.
func (a *App) observeRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	a.metrics.Request(c.FullPath(), c.Request.Method, c.Writer.Status(), time.Since(start))
}

// MetricsHandler serves the app's metrics in Prometheus' text format. It is
// meant for its own listener (--metrics-addr), not the app's router: operators'
// numbers are not for every visitor.
func (a *App) MetricsHandler() http.Handler { return a.metrics.Handler() }
