// Package gpu describes GPU work and the hardware that runs it: Job and
// Result, a catalog of GPU classes with their datasheet figures (Lookup,
// Classes), and a roofline Model that turns a job's cost into a duration
// and an energy on a class. A Catalog adds measured classes (hardware
// profiles, gpu/profile, written by dais gpu bench) to the built-in ones;
// runners resolve class names through one.
//
// The package is pure types and math, with no goroutines, clock, OS or
// cgo, so protocol code may import it. Executors that run real work or read
// telemetry (gorgonia training, nvml; gpu/kernel, the live market unit's
// real computation) live in subpackages that only drivers import.
//
//	h100, _ := gpu.Lookup("h100")
//	res := gpu.DefaultModel.Run(h100, job) // res.DurationNs, res.EnergyJ or res.Err
package gpu
