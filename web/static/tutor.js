// Optio tutor: streams answers with fetch and server-sent events. Without
// this script the form posts normally and the page shows the whole answer.
(function () {
  'use strict';
  var form = document.getElementById('tutor-form');
  if (!form || !window.fetch || !window.TextDecoder || !window.ReadableStream) {
    return;
  }
  var list = document.getElementById('tutor-messages');
  var status = document.getElementById('tutor-status');
  var input = form.querySelector('textarea[name=text]');
  var button = form.querySelector('button[type=submit]');
  var url = '/api/tutor/conversations/' + encodeURIComponent(form.getAttribute('data-conversation')) + '/messages';

  function bubble(role, text) {
    var empty = list.querySelector('.empty');
    if (empty) {
      empty.remove();
    }
    var li = document.createElement('li');
    li.className = 'msg msg-' + role;
    var who = document.createElement('span');
    who.className = 'who';
    who.textContent = role === 'user' ? 'You' : 'Tutor';
    var body = document.createElement('div');
    body.className = 'text';
    body.textContent = text;
    li.appendChild(who);
    li.appendChild(body);
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  function failure(resp) {
    return resp.json().then(function (b) {
      throw new Error(b && b.error && b.error.message ? b.error.message : 'Something went wrong. Please try again.');
    }, function () {
      throw new Error('Something went wrong. Please try again.');
    });
  }

  form.addEventListener('submit', function (ev) {
    var text = input.value.trim();
    if (!text) {
      return;
    }
    ev.preventDefault();
    button.disabled = true;
    status.textContent = '';
    var question = bubble('user', text);
    var answer = null;
    function answerText() {
      if (!answer) {
        answer = bubble('model', '');
      }
      return answer.querySelector('.text');
    }
    // handle applies one event; it returns an Error for an error event.
    function handle(block) {
      var event = 'message';
      var data = '';
      block.split('\n').forEach(function (line) {
        if (line.indexOf('event:') === 0) {
          event = line.slice(6).trim();
        } else if (line.indexOf('data:') === 0) {
          data += line.slice(5).replace(/^ /, '');
        }
      });
      if (!data) {
        return null;
      }
      var v = JSON.parse(data);
      if (event === 'chunk') {
        answerText().textContent += v.text;
      } else if (event === 'withheld') {
        answerText().textContent = v.text;
        answer.className += ' msg-safety';
      } else if (event === 'error') {
        return new Error(v.message);
      } else if (event === 'done' && v.answer) {
        answerText();
        answer.id = 'm-' + v.answer.id;
        if (v.refused) {
          answer.className += ' msg-safety';
        }
      }
      list.scrollTop = list.scrollHeight;
      return null;
    }
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'text/event-stream'},
      body: JSON.stringify({text: text})
    }).then(function (resp) {
      if (!resp.ok || (resp.headers.get('Content-Type') || '').indexOf('text/event-stream') !== 0) {
        return failure(resp);
      }
      input.value = '';
      var reader = resp.body.getReader();
      var decoder = new TextDecoder();
      var buf = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) {
            return null;
          }
          buf += decoder.decode(r.value, {stream: true});
          var i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            var err = handle(buf.slice(0, i));
            buf = buf.slice(i + 2);
            if (err) {
              throw err;
            }
          }
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      // The question was not kept: take it back and let the student retry.
      question.remove();
      if (answer) {
        answer.remove();
      }
      input.value = text;
      status.textContent = err.message;
    }).then(function () {
      button.disabled = false;
      input.focus();
    });
  });
})();
