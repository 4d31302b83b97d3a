@echo off
rem Starts the vigil command from this distribution (bin\ lib\ conf\).
rem Needs JAVA_HOME set to a JDK 21 or newer. JAVA_OPTS and then VIGIL_JAVA_OPTS come after
rem the default JVM flags, so they win.
setlocal
set "VIGIL_HOME=%~dp0.."
if not defined JAVA_HOME (
  echo vigil: set JAVA_HOME to a JDK 21 or newer, e.g. Temurin 21 or 25. 1>&2
  exit /b 1
)
if not exist "%JAVA_HOME%\bin\java.exe" (
  echo vigil: JAVA_HOME=%JAVA_HOME% has no bin\java.exe; set it to a JDK 21 or newer. 1>&2
  exit /b 1
)
rem lib\dev (the embedded PostgreSQL of a development cluster) is for start-dev only.
set "CP=%VIGIL_HOME%\lib\*"
if "%~1"=="start-dev" set "CP=%CP%;%VIGIL_HOME%\lib\dev\*"
"%JAVA_HOME%\bin\java.exe" -XX:+UseSerialGC -Xss512k -Xms24m %JAVA_OPTS% %VIGIL_JAVA_OPTS% -cp "%CP%" io.vigil.server.cli.Main %*
exit /b %ERRORLEVEL%
