@echo off
rem Runs Vigil from a source checkout: builds the distribution with mvnw.cmd when it is
rem missing, then runs vigil-server\target\vigil\bin\vigil.cmd. Needs JAVA_HOME (JDK 21+).
rem Unlike ./vigil it does not rebuild after source changes: run "mvnw.cmd -DskipTests package".
setlocal
set "ROOT=%~dp0"
if not defined JAVA_HOME (
  echo vigil: set JAVA_HOME to a JDK 21 or newer, e.g. Temurin 21 or 25. 1>&2
  exit /b 1
)
if exist "%ROOT%vigil-server\target\vigil\lib\" goto run
echo vigil: building the distribution... 1>&2
pushd "%ROOT%"
call mvnw.cmd -B -q -DskipTests package
set "BUILD=%ERRORLEVEL%"
popd
if not "%BUILD%"=="0" (
  echo vigil: the build failed; fix it and run vigil.cmd again. 1>&2
  exit /b 1
)
:run
call "%ROOT%vigil-server\target\vigil\bin\vigil.cmd" %*
exit /b %ERRORLEVEL%
