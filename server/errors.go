package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// apiError is an error in OpenAI's JSON shape with its HTTP status.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// badRequest is a 400 invalid_request_error about param.
func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: strp(param), Message: fmt.Sprintf(format, args...)}
}

func withCode(e *apiError, code string) *apiError {
	e.Code = strp(code)
	return e
}

var (
	errBusy     = &apiError{Status: http.StatusTooManyRequests, Type: "server_busy", Code: strp("server_busy"), Message: "all slots are busy and the queue is full; retry later"}
	errDraining = &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strp("shutting_down"), Message: "the server is shutting down"}
)

// toAPIError maps any error to an apiError (500 unless it already is one).
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: strp("request_too_large"),
			Message: fmt.Sprintf("request body over the limit of %d bytes", mbe.Limit)}
	}
	if errors.Is(err, errTimeout) {
		return &apiError{Status: http.StatusGatewayTimeout, Type: "timeout", Code: strp("timeout"), Message: err.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

var errTimeout = errors.New("request timed out")

type errorBody struct {
	Error *apiError `json:"error"`
}

func writeError(w http.ResponseWriter, err error) *apiError {
	ae := toAPIError(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(errorBody{ae})
	return ae
}
